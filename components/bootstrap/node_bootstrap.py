"""Bootstrap on-prem servers over SSH with pulumi-command: the same script file on every node, run idempotently.

Per node, :class:`NodeBootstrap` copies ``scripts/bootstrap.sh`` to the server (``remote.CopyToRemote``) and runs
it as root (``remote.Command``) with the node's inputs from :mod:`components.bootstrap.render` in the command line
and the cluster join token on standard input. Both carry the script's hash as a trigger, so a changed script is
sent and run again; re-running an unchanged node reports every step ``ok``. A failing node fails its own
``remote.Command``, whose error names the node and the step (the script prints ``step=<name> status=failed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.bootstrap.render import (
    REMOTE_SCRIPT,
    SCRIPT,
    BootstrapSettings,
    NodePlan,
    node_env,
    remote_command,
    script_sha256,
)


@dataclass
class NodeBootstrapArgs:
    node: NodePlan
    """The server: name, address, SSH user, pool, GPU or not, and the labels and taints it must carry."""
    settings: BootstrapSettings
    """The stack's ``mlops:nodeBootstrap``: pinned apt sources and versions, join endpoint and CA hashes."""
    ssh_private_key: pulumi.Input[str]
    """Private key for ``node.ssh_user`` (``mlops:nodeSshPrivateKey``); always handled as a Pulumi secret."""
    join_token: pulumi.Input[str]
    """kubeadm bootstrap token (``mlops:clusterJoinToken``); reaches the node only on the script's stdin."""
    require_driver: bool = True
    """GPU nodes must answer ``nvidia-smi`` before they join (the stack's ``safeguards.gpuDriverPreinstalled``)."""
    ssh_port: int = 22


class NodeBootstrap(pulumi.ComponentResource):
    """One server: copy the script, run it. ``output`` is the script's step report (``status=changed|ok``)."""

    output: pulumi.Output[str]

    def __init__(self, resource_name: str, args: NodeBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:onprem:NodeBootstrap", resource_name, None, opts)
        from pulumi_command import remote

        digest = script_sha256()
        connection = remote.ConnectionArgs(
            host=args.node.address,
            port=args.ssh_port,
            user=args.node.ssh_user,
            private_key=pulumi.Output.secret(args.ssh_private_key),
            host_key=args.node.ssh_host_key,
            dial_error_limit=5,
        )
        child = pulumi.ResourceOptions(parent=self)
        script = remote.CopyToRemote(
            f"{resource_name}-script",
            connection=connection,
            source=pulumi.FileAsset(str(SCRIPT)),
            remote_path=REMOTE_SCRIPT,
            triggers=[digest],
            opts=child,
        )
        env = node_env(args.node, args.settings, require_driver=args.require_driver)
        run = remote.Command(
            f"{resource_name}-run",
            connection=connection,
            create=remote_command(env, args.node.ssh_user),
            stdin=pulumi.Output.secret(args.join_token).apply(lambda token: token.strip() + "\n"),
            triggers=[digest],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[script]),
        )
        self.output = run.stdout
        self.register_outputs({"output": run.stdout, "scriptSha256": digest})


@dataclass
class NodesBootstrapArgs:
    nodes: list[NodePlan]
    settings: BootstrapSettings
    ssh_private_key: pulumi.Input[str]
    join_token: pulumi.Input[str]
    require_driver: bool = True
    skipped: list[str] = field(default_factory=list)
    """Servers listed without an ``address``: they are not bootstrapped (reported, not silently dropped)."""


class NodesBootstrap(pulumi.ComponentResource):
    """Every listed server of the stack, one :class:`NodeBootstrap` each, independent of one another."""

    nodes: dict[str, NodeBootstrap]

    def __init__(self, resource_name: str, args: NodesBootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:onprem:NodesBootstrap", resource_name, None, opts)
        for name in args.skipped:
            pulumi.log.warn(f"node {name} has no address in the stack: not bootstrapped over SSH", self)
        self.nodes = {
            plan.name: NodeBootstrap(
                plan.name,
                NodeBootstrapArgs(
                    node=plan,
                    settings=args.settings,
                    ssh_private_key=args.ssh_private_key,
                    join_token=args.join_token,
                    require_driver=args.require_driver,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for plan in args.nodes
        }
        self.register_outputs({"nodes": sorted(self.nodes)})
