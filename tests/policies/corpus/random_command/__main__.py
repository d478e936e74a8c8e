"""pulumi-random and pulumi-command only: a pet name, a password and a local command that uses both."""

import pulumi
import pulumi_command as command
import pulumi_random as random

pet = random.RandomPet("name", length=2)
password = random.RandomPassword("password", length=20, special=True)
greet = command.local.Command(
    "greet",
    create=pet.id.apply(lambda p: f"echo hello {p}"),
    environment={"PASSWORD": password.result},
)

pulumi.export("pet", pet.id)
pulumi.export("stdout", greet.stdout)
