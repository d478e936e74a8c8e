"""A DNS alias to a load balancer: dns_name and zone_id are computed outputs, unknown before deployment."""

import pulumi
import pulumi_aws as aws

zone = aws.route53.Zone("corpus", name="corpus.example.com")
lb = aws.lb.LoadBalancer(
    "api",
    load_balancer_type="application",
    subnets=["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    internal=False,
)
aws.route53.Record(
    "api",
    zone_id=zone.zone_id,
    name="api.corpus.example.com",
    type="A",
    aliases=[{"name": lb.dns_name, "zone_id": lb.zone_id, "evaluate_target_health": True}],
)

pulumi.export("lb_dns", lb.dns_name)
