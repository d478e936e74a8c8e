"""Model serving and rollout: the local Open Inference Protocol server, the KServe deployer, the rollout decision
logic they share, and monitoring of served requests. Embedded into the deploy and monitor components."""
