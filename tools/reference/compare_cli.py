"""Runs every torch reference trajectory through ./descent and reports how closely the paths agree.

Run from the repository root after generate.py: python3 tools/reference/compare_cli.py
"""
import json, subprocess
d=json.load(open('tests/Descent.Tests/Reference/torch_reference.json'))
worst=0; exact=0; total=0; worst_case=None; nvals=0; exact_vals=0
for c in d['trajectories']:
    args=['./descent','trajectory','-f',c['function'],'-o',c['optimizer'],'--steps',str(c['steps']),'--start=%r,%r'%tuple(c['start'])]
    for k,v in c['options'].items():
        flag='--'+('initial-accumulator' if k=='initial_accumulator_value' else k.replace('_','-'))
        if v is True: args.append(flag)
        elif v is False: args.append(flag+'=false')
        else: args+= [flag, repr(v)]
    out=subprocess.run(args,capture_output=True,text=True).stdout.split('\n')[1:]
    rows=[list(map(float,l.split(',')[1:])) for l in out if l]
    case_exact=True
    for a,b in zip(rows,c['path']):
        for x,y in zip(a,b):
            nvals+=1
            if x==y: exact_vals+=1; continue
            case_exact=False
            e=abs(x-y)/(abs(y) if y else 1)
            if e>worst: worst=e; worst_case=(c['optimizer'],c['options'],c['function'])
    exact+=case_exact; total+=1
print(f"{total} trajectories, {exact} bit-identical to torch over every step; {exact_vals}/{nvals} values identical; worst relative error {worst:.2e} in {worst_case}")
