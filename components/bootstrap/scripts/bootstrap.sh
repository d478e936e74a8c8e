#!/usr/bin/env bash
# Bootstrap one on-prem Kubernetes node: idempotent, one step at a time, each reporting `changed` or `ok`.
#
# Sent and run by components/bootstrap (pulumi-command over SSH) and run as-is by tests/components/bootstrap. Every input is
# an MLOPS_* environment variable rendered by components/bootstrap/render.py (labels and taints come from
# components/gpu.py; package sources and versions from the stack's mlops:nodeBootstrap). The cluster join token is
# read from standard input, never from argv or the environment, and only ever written to a 0600 file that is
# removed again. Output: one line per step, `mlops-bootstrap node=<name> step=<step> status=changed|ok`; on error
# `status=failed` names the step on stderr and the script exits non-zero.
set -euo pipefail
umask 022

readonly MODULES_FILE=/etc/modules-load.d/mlops-kubernetes.conf
readonly SYSCTL_FILE=/etc/sysctl.d/99-mlops-kubernetes.conf
readonly APT_SOURCES_FILE=/etc/apt/sources.list.d/mlops.list
readonly CONTAINERD_CONFIG=/etc/containerd/config.toml
readonly KUBELET_DEFAULTS=/etc/default/kubelet
readonly KUBELET_KUBECONFIG=/etc/kubernetes/kubelet.conf
readonly JOIN_CONFIG=/etc/kubernetes/mlops-join.yaml
readonly NVIDIA_RUNTIME=/usr/bin/nvidia-container-runtime
readonly KERNEL_MODULES="overlay br_netfilter"
readonly SYSCTLS="net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.ipv4.ip_forward=1"
# Control-plane nodes (MLOPS_CONTROL_PLANE=1): the kube-apiserver's static pod, and where its configuration goes.
# Plain variables, not readonly, so tests/components/bootstrap can point them at a fixture after sourcing this file.
APISERVER_MANIFEST=/etc/kubernetes/manifests/kube-apiserver.yaml
APISERVER_CONFIG_DIR=/etc/kubernetes/mlops
AUDIT_LOG_DIR=/var/log/kubernetes/audit
APISERVER_READY_TIMEOUT=300
APISERVER_POLL_SECONDS=5
readonly APISERVER_CONFIG_VOLUME=mlops-apiserver-config
readonly AUDIT_LOG_VOLUME=mlops-audit-log
readonly APISERVER_HASH_ANNOTATION=mlops.platform/apiserver-config-sha256

CURRENT_STEP=preflight
STEP_CHANGED=0
CHANGED_STEPS=0
CONTAINERD_CONFIG_CHANGED=0
KUBELET_CONFIG_CHANGED=0
JOIN_TOKEN=""
FILE_CHANGED=0
NODE="${MLOPS_NODE_NAME:-unknown}"

log() { printf 'mlops-bootstrap node=%s %s\n' "$NODE" "$*"; }

fail() {
  printf 'mlops-bootstrap node=%s step=%s status=failed: %s\n' "$NODE" "$CURRENT_STEP" "$*" >&2
  exit 1
}

on_exit() {
  local rc=$?
  rm -f "$JOIN_CONFIG"
  if [ "$rc" -ne 0 ]; then
    printf 'mlops-bootstrap node=%s step=%s status=failed exit=%s\n' "$NODE" "$CURRENT_STEP" "$rc" >&2
    printf 'mlops-bootstrap node=%s result=failed step=%s\n' "$NODE" "$CURRENT_STEP" >&2
  fi
}
trap on_exit EXIT

run_step() {
  CURRENT_STEP=$1
  STEP_CHANGED=0
  "$2"
  if [ "$STEP_CHANGED" -eq 1 ]; then
    CHANGED_STEPS=$((CHANGED_STEPS + 1))
    log "step=$CURRENT_STEP status=changed"
  else
    log "step=$CURRENT_STEP status=ok"
  fi
}

mark_changed() { STEP_CHANGED=1; }

# ensure_file PATH MODE CONTENT: make PATH hold CONTENT (plus a final newline) with MODE. Sets FILE_CHANGED to 1
# and marks the step changed only if the file differed.
ensure_file() {
  local path=$1 mode=$2 content=$3 tmp
  FILE_CHANGED=0
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "$path.mlops.XXXXXX")
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path" && [ "$(stat -c %a "$path")" = "$mode" ]; then
    rm -f "$tmp"
    return 0
  fi
  mv -f "$tmp" "$path"
  FILE_CHANGED=1
  mark_changed
}

require_env() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || fail "environment variable $name is not set (rendered by components/bootstrap)"
  done
}

step_preflight() {
  [ "$(id -u)" -eq 0 ] || fail "must run as root (the component runs it with sudo -n)"
  require_env MLOPS_NODE_NAME MLOPS_GPU MLOPS_NODE_LABELS MLOPS_APT_SOURCES MLOPS_PACKAGES MLOPS_PAUSE_IMAGE \
    MLOPS_API_SERVER_ENDPOINT MLOPS_CA_CERT_HASHES
  case "$MLOPS_GPU" in 0 | 1) ;; *) fail "MLOPS_GPU must be 0 or 1" ;; esac
  case "${MLOPS_CONTROL_PLANE:-0}" in 0) ;; 1) require_env MLOPS_APISERVER_AUTH_CONFIG MLOPS_APISERVER_AUDIT_POLICY \
    MLOPS_APISERVER_FLAGS ;; *) fail "MLOPS_CONTROL_PLANE must be 0 or 1" ;; esac
  if [ ! -t 0 ]; then
    IFS= read -r JOIN_TOKEN || true
  fi
}

step_swap() {
  if [ -n "$(swapon --noheadings --show 2>/dev/null)" ]; then
    swapoff -a
    mark_changed
  fi
  local swap_entry='^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]'
  if grep -Eq "$swap_entry" /etc/fstab; then
    sed -E -i "s|($swap_entry.*)|# disabled by mlops-bootstrap (Kubernetes needs swap off): \1|" /etc/fstab
    mark_changed
  fi
}

step_kernel_modules() {
  local module
  ensure_file "$MODULES_FILE" 644 "${KERNEL_MODULES// /$'\n'}"
  for module in $KERNEL_MODULES; do
    if [ ! -d "/sys/module/$module" ]; then
      modprobe "$module"
      mark_changed
    fi
  done
}

step_sysctl() {
  local setting key want have
  ensure_file "$SYSCTL_FILE" 644 "${SYSCTLS// /$'\n'}"
  for setting in $SYSCTLS; do
    key=${setting%%=*}
    want=${setting#*=}
    have=$(sysctl -n "$key" 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
      sysctl -q -p "$SYSCTL_FILE" >/dev/null
      mark_changed
      have=$(sysctl -n "$key" 2>/dev/null || true)
      [ "$have" = "$want" ] || fail "$key is '$have' after applying $SYSCTL_FILE, want '$want'"
    fi
  done
}

step_gpu_driver() {
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: the NVIDIA driver must be preinstalled on GPU nodes"
  nvidia-smi -L >/dev/null || fail "nvidia-smi does not answer: the NVIDIA driver is not working"
}

step_apt_sources() {
  local keyring
  for keyring in ${MLOPS_APT_KEYRINGS:-}; do
    [ -s "$keyring" ] || fail "apt keyring $keyring (signedBy in mlops:nodeBootstrap) is missing on the node"
  done
  ensure_file "$APT_SOURCES_FILE" 644 "$MLOPS_APT_SOURCES"
}

package_names() {
  local spec
  for spec in $MLOPS_PACKAGES; do printf '%s\n' "${spec%%=*}"; done
}

step_packages() {
  local spec name want have missing=()
  for spec in $MLOPS_PACKAGES; do
    name=${spec%%=*}
    want=${spec#*=}
    have=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$name" 2>/dev/null || true)
    [ "$have" = "installed $want" ] || missing+=("$spec")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends --allow-downgrades --allow-change-held-packages \
    -o Dpkg::Options::=--force-confold "${missing[@]}"
  mark_changed
}

step_package_hold() {
  local held name
  held=$(apt-mark showhold)
  for name in $(package_names); do
    if ! grep -qx "$name" <<<"$held"; then
      apt-mark hold "$name" >/dev/null
      mark_changed
    fi
  done
}

render_containerd_config() {
  local default_runtime=runc
  [ "$MLOPS_GPU" = 1 ] && default_runtime=nvidia
  cat <<TOML
# Managed by mlops-bootstrap (components/bootstrap); local changes are overwritten.
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$MLOPS_PAUSE_IMAGE"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "$default_runtime"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
TOML
  if [ "$MLOPS_GPU" = 1 ]; then
    cat <<TOML

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
        BinaryName = "$NVIDIA_RUNTIME"
        SystemdCgroup = true
TOML
  fi
}

step_nvidia_runtime() {
  [ -x "$NVIDIA_RUNTIME" ] || fail "$NVIDIA_RUNTIME is missing: is nvidia-container-toolkit installed?"
}

step_containerd_config() {
  ensure_file "$CONTAINERD_CONFIG" 644 "$(render_containerd_config)"
  CONTAINERD_CONFIG_CHANGED=$FILE_CHANGED
}

ensure_service() {  # ensure_service UNIT RESTART(0|1)
  local unit=$1 restart=$2
  if ! systemctl is-enabled --quiet "$unit"; then
    systemctl enable "$unit" >/dev/null 2>&1 || fail "systemctl enable $unit failed"
    mark_changed
  fi
  if [ "$restart" = 1 ] || ! systemctl is-active --quiet "$unit"; then
    systemctl restart "$unit" || fail "systemctl restart $unit failed"
    mark_changed
  fi
  systemctl is-active --quiet "$unit" || fail "$unit is not running after restart"
}

step_containerd_service() {
  ensure_service containerd "$CONTAINERD_CONFIG_CHANGED"
}

step_kubelet_config() {
  local args="--node-labels=$MLOPS_NODE_LABELS"
  [ -n "${MLOPS_NODE_TAINTS:-}" ] && args="$args --register-with-taints=$MLOPS_NODE_TAINTS"
  ensure_file "$KUBELET_DEFAULTS" 644 "# Managed by mlops-bootstrap (components/bootstrap).
KUBELET_EXTRA_ARGS=\"$args\""
  KUBELET_CONFIG_CHANGED=$FILE_CHANGED
}

step_join() {
  [ -f "$KUBELET_KUBECONFIG" ] && return 0 # already a member of the cluster
  [ -n "$JOIN_TOKEN" ] || fail "no join token on standard input (mlops:clusterJoinToken)"
  [[ "$JOIN_TOKEN" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "the join token on standard input is not a kubeadm bootstrap token"
  local hashes="" hash
  for hash in $MLOPS_CA_CERT_HASHES; do hashes="$hashes\"$hash\", "; done
  mkdir -p "$(dirname "$JOIN_CONFIG")"
  (
    umask 077
    cat >"$JOIN_CONFIG" <<YAML
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "$MLOPS_API_SERVER_ENDPOINT"
    token: "$JOIN_TOKEN"
    caCertHashes: [${hashes%, }]
nodeRegistration:
  name: "$MLOPS_NODE_NAME"
  criSocket: unix:///var/run/containerd/containerd.sock
YAML
  )
  kubeadm join --config "$JOIN_CONFIG"
  rm -f "$JOIN_CONFIG"
  mark_changed
}

step_kubelet_service() {
  ensure_service kubelet "$KUBELET_CONFIG_CHANGED"
}

# patch_apiserver_manifest IN OUT HASH: write to OUT the static pod IN with this script's kube-apiserver flags,
# volume mounts, volumes and config-hash annotation, replacing any it set before and any --oidc-* flag (they exclude
# --authentication-config). Expects kubeadm's layout: one `- kube-apiserver` command entry, one `volumeMounts:` and
# one `volumes:` list, one `annotations:` map. Exits non-zero (OUT unusable) on anything else.
patch_apiserver_manifest() {
  local in=$1 out=$2 hash=$3
  awk -v flags="$MLOPS_APISERVER_FLAGS" -v config_dir="$APISERVER_CONFIG_DIR" -v log_dir="$AUDIT_LOG_DIR" \
    -v config_volume="$APISERVER_CONFIG_VOLUME" -v log_volume="$AUDIT_LOG_VOLUME" \
    -v annotation="$APISERVER_HASH_ANNOTATION" -v hash="$hash" '
    function indent(line) { match(line, /^ */); return substr(line, 1, RLENGTH) }
    want != "" {
      pad = indent($0)
      if (want == "annotations") {
        print pad annotation ": \"" hash "\""
      } else if ($0 !~ /^ *- /) {
        bad = 1
      } else if (want == "mounts") {
        print pad "- {mountPath: " config_dir ", name: " config_volume ", readOnly: true}"
        print pad "- {mountPath: " log_dir ", name: " log_volume "}"
      } else {
        print pad "- {name: " config_volume ", hostPath: {path: " config_dir ", type: DirectoryOrCreate}}"
        print pad "- {name: " log_volume ", hostPath: {path: " log_dir ", type: DirectoryOrCreate}}"
      }
      want = ""
    }
    /^ *- --(authentication-config|audit-policy-file|audit-log-(path|maxage|maxbackup|maxsize)|oidc-[a-z-]+)=/ { next }
    /^ *- [{]mountPath: [^,]*, name: mlops-(apiserver-config|audit-log)[,}]/ { next }
    /^ *- [{]name: mlops-(apiserver-config|audit-log), / { next }
    index($0, annotation ":") > 0 { next }
    /^ *- kube-apiserver *$/ {
      print
      n = split(flags, flag, " ")
      for (i = 1; i <= n; i++) print indent($0) "- " flag[i]
      command++
      next
    }
    /^ *annotations: *$/ { print; want = "annotations"; annotations++; next }
    /^ *volumeMounts: *$/ { print; want = "mounts"; mounts++; next }
    /^ *volumes: *$/ { print; want = "volumes"; volumes++; next }
    { print }
    END { exit (command == 1 && mounts == 1 && volumes == 1 && annotations == 1 && want == "" && !bad) ? 0 : 3 }
  ' "$in" >"$out"
}

apiserver_pid() { pgrep -o -x kube-apiserver || true; }

apiserver_port() {
  local port
  port=$(sed -n 's/^ *- --secure-port=\([0-9]*\) *$/\1/p' "$APISERVER_MANIFEST" | head -n 1)
  printf '%s\n' "${port:-6443}"
}

# wait_apiserver OLD_PID: until APISERVER_READY_TIMEOUT, wait for a kube-apiserver process other than OLD_PID (the
# kubelet recreates the static pod when its manifest changes: the old process answering proves nothing) that answers
# /readyz on this node. /readyz is served to anonymous callers by default; -k because the serving certificate need not
# name 127.0.0.1 (only liveness is asked, nothing is sent).
wait_apiserver() {
  local old=$1 deadline=$((SECONDS + APISERVER_READY_TIMEOUT)) pid port
  port=$(apiserver_port)
  while [ "$SECONDS" -lt "$deadline" ]; do
    pid=$(apiserver_pid)
    if [ -n "$pid" ] && [ "$pid" != "$old" ] && curl -fsk --max-time 5 "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      return 0
    fi
    sleep "$APISERVER_POLL_SECONDS"
  done
  return 1
}

step_apiserver() {
  local flag files_changed=0 hash tmp backup old_pid
  [ -f "$APISERVER_MANIFEST" ] || fail "$APISERVER_MANIFEST not found: not a kubeadm control-plane node (controlPlane: true in the stack)?"
  for flag in $MLOPS_APISERVER_FLAGS; do
    case "$flag" in
      --authentication-config=* | --audit-policy-file=* | --audit-log-path=* | --audit-log-max*=*) ;;
      *) fail "MLOPS_APISERVER_FLAGS: $flag is not a flag this step manages" ;;
    esac
  done
  mkdir -p "$APISERVER_CONFIG_DIR/backup" "$AUDIT_LOG_DIR"
  chmod 700 "$APISERVER_CONFIG_DIR" "$APISERVER_CONFIG_DIR/backup" "$AUDIT_LOG_DIR"
  ensure_file "$APISERVER_CONFIG_DIR/authentication-config.yaml" 600 "$MLOPS_APISERVER_AUTH_CONFIG"
  files_changed=$FILE_CHANGED
  ensure_file "$APISERVER_CONFIG_DIR/audit-policy.yaml" 600 "$MLOPS_APISERVER_AUDIT_POLICY"
  [ "$FILE_CHANGED" -eq 1 ] && files_changed=1
  # The hash in an annotation changes the pod when only a file changed: the API server reads its audit policy at
  # start-up only, so the kubelet must recreate it.
  hash=$(cat "$APISERVER_CONFIG_DIR/authentication-config.yaml" "$APISERVER_CONFIG_DIR/audit-policy.yaml" | sha256sum | cut -d' ' -f1)
  # Built next to the configuration, never in the manifests directory: the kubelet runs every file there.
  tmp=$(mktemp "$APISERVER_CONFIG_DIR/kube-apiserver.yaml.XXXXXX")
  if ! patch_apiserver_manifest "$APISERVER_MANIFEST" "$tmp" "$hash"; then
    rm -f "$tmp"
    fail "$APISERVER_MANIFEST is not in kubeadm's layout (one '- kube-apiserver' command, volumeMounts, volumes, annotations); left unchanged"
  fi
  if cmp -s "$tmp" "$APISERVER_MANIFEST"; then
    rm -f "$tmp"
    [ "$files_changed" -eq 0 ] || fail "configuration files changed but the manifest's hash did not"
    return 0
  fi
  backup="$APISERVER_CONFIG_DIR/backup/kube-apiserver.yaml.$(date -u +%Y%m%dT%H%M%SZ)"
  cp -p "$APISERVER_MANIFEST" "$backup"
  chmod 600 "$tmp"
  old_pid=$(apiserver_pid)
  mv -f "$tmp" "$APISERVER_MANIFEST"
  mark_changed
  log "step=$CURRENT_STEP manifest=patched backup=$backup waiting-for=readyz"
  wait_apiserver "$old_pid" && return 0
  tmp=$(mktemp "$APISERVER_CONFIG_DIR/kube-apiserver.yaml.XXXXXX")
  cp -p "$backup" "$tmp"
  mv -f "$tmp" "$APISERVER_MANIFEST"
  if wait_apiserver ""; then # after the rollback, any API server that is ready will do
    fail "kube-apiserver did not answer /readyz within ${APISERVER_READY_TIMEOUT}s with the new configuration; rolled back to $backup, which serves again"
  fi
  fail "kube-apiserver did not answer /readyz with the new configuration nor after rolling back to $backup: check the node (crictl ps -a, journalctl -u kubelet)"
}

main() {
  run_step preflight step_preflight
  log "gpu=$MLOPS_GPU labels=$MLOPS_NODE_LABELS taints=${MLOPS_NODE_TAINTS:-none}"
  run_step swap step_swap
  run_step kernel-modules step_kernel_modules
  run_step sysctl step_sysctl
  if [ "$MLOPS_GPU" = 1 ] && [ "${MLOPS_REQUIRE_DRIVER:-1}" = 1 ]; then
    run_step gpu-driver step_gpu_driver
  fi
  run_step apt-sources step_apt_sources
  run_step packages step_packages
  run_step package-hold step_package_hold
  if [ "$MLOPS_GPU" = 1 ]; then
    run_step nvidia-runtime step_nvidia_runtime
  fi
  run_step containerd-config step_containerd_config
  run_step containerd-service step_containerd_service
  run_step kubelet-config step_kubelet_config
  run_step join step_join
  run_step kubelet-service step_kubelet_service
  if [ "${MLOPS_CONTROL_PLANE:-0}" = 1 ]; then
    run_step apiserver step_apiserver
  fi
  CURRENT_STEP=finished
  log "result=ok changed=$CHANGED_STEPS"
}

# Run when executed; tests/components/bootstrap sources the file to drive single steps against fixtures.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
