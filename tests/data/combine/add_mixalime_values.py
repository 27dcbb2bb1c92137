"""Add MixALime's own combine_p_values_logit results to logit_reference.json (field "mixalime").

Run with the MixALime 2.29.4 environment (benchmarks/mixalime/setup_env.sh):
  benchmarks/.envs/mixalime/bin/python tests/data/combine/add_mixalime_values.py
"""
import json
from pathlib import Path

import mixalime
from mixalime.combine import combine_p_values_logit

f = Path(__file__).with_name("logit_reference.json")
ref = json.loads(f.read_text())
for case in ref["cases"]:
    case["mixalime"] = repr(float(combine_p_values_logit(case["pvalues"])))
ref["mixalime_version"] = mixalime.__version__
f.write_text(json.dumps(ref, indent=1) + "\n")
