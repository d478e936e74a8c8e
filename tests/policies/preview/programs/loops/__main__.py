import pulumi_random as random

random.RandomPet("pet")
while True:
    pass
