"""Evaluate a ValidatingAdmissionPolicy spec's CEL with cel-python (run in its own venv, given as argv[1]):
reads {"spec", "request", "object", "oldObject", "params"} JSON on stdin, prints the failed validations' messages
(``[]``: admitted) or ``"not-matched"`` when a matchCondition excludes the request."""

import json
import sys

import celpy

case = json.load(sys.stdin)
spec = case["spec"]
env = celpy.Environment()
activation = {k: celpy.json_to_cel(case.get(k)) for k in ("request", "object", "oldObject", "params")}


def evaluate(expression, extra):
    return env.program(env.compile(expression)).evaluate({**activation, **extra})


for condition in spec.get("matchConditions", []):
    if not evaluate(condition["expression"], {}):
        print(json.dumps("not-matched"))
        sys.exit(0)
variables = {}
for variable in spec.get("variables", []):
    variables[variable["name"]] = evaluate(
        variable["expression"],
        {"variables": celpy.celtypes.MapType({celpy.celtypes.StringType(k): v for k, v in variables.items()})},
    )
var = {"variables": celpy.celtypes.MapType({celpy.celtypes.StringType(k): v for k, v in variables.items()})}
failed = []
for validation in spec["validations"]:
    result = evaluate(validation["expression"], var)
    if isinstance(result, Exception) or not result:
        failed.append(validation.get("message") or validation["messageExpression"])
print(json.dumps(failed))
