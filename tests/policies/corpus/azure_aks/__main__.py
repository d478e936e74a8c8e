"""AKS cluster with a system node pool and a managed identity."""

import pulumi
from pulumi_azure_native import containerservice, resources

rg = resources.ResourceGroup("aks-rg", location="uaenorth")
cluster = containerservice.ManagedCluster(
    "corpus-aks",
    resource_group_name=rg.name,
    location=rg.location,
    dns_prefix="corpusaks",
    kubernetes_version="1.30",
    identity={"type": containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
    agent_pool_profiles=[
        {
            "name": "system",
            "mode": containerservice.AgentPoolMode.SYSTEM,
            "count": 2,
            "vm_size": "Standard_D4s_v5",
            "os_type": "Linux",
        }
    ],
)

pulumi.export("fqdn", cluster.fqdn)
