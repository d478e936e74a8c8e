import sys

import pulumi
import pulumi_random as random

mode = pulumi.Config().require("mode")
random.RandomPet("pet")
if mode == "top":
    sys.exit(0)
if mode == "apply":
    pulumi.Output.from_input(1).apply(lambda _: sys.exit(0))
if mode == "interrupt":
    raise KeyboardInterrupt
