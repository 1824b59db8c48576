# Parse an ncu --csv gpu__time_duration log: find the repeat period of the kernel sequence (one
# codec round) and sum one period by kernel and by kind.
import csv, sys, re, collections, json
rows = []
with open(sys.argv[1]) as f:
    lines = [l for l in f if l.startswith('"')]
r = csv.DictReader(lines)
for x in r:
    if x.get('Metric Name') != 'gpu__time_duration.sum': continue
    v = float(x['Metric Value'].replace(',', ''))
    unit = x['Metric Unit']
    us = v / 1000 if unit in ('ns', 'nsecond') else v if unit == 'usecond' else v * 1000 if unit == 'msecond' else v
    name = x['Kernel Name']
    rows.append((name, us))
names = [n for n, _ in rows]
N = len(names)
best = None
for P in range(200, N // 2):
    m = sum(names[i] == names[i + P] for i in range(0, N - P))
    frac = m / (N - P)
    if frac > 0.995: best = P; break
print('kernels', N, 'period', best)
P = best or N
seg = rows[:P]
tot = sum(u for _, u in seg)
def short(n):
    n = re.sub(r'\(.*$', '', n) if not n.startswith('void') else re.sub(r'\((?![^()]*<).*$', '', n)
    return n[:110]
by = collections.defaultdict(lambda: [0, 0.0])
for n, u in seg:
    k = short(n); by[k][0] += 1; by[k][1] += u
def kind(n):
    if 'nvjet' in n or 'gemm' in n.lower() and 'conv' not in n: return 'cuBLASLt GEMM'
    if 'conv' in n.lower(): return 'decoder convolutions'
    if 'flash' in n: return 'attention'
    if 'split_output' in n: return 'split_output (q/k/v with rope)'
    if 'swiglu_fp8' in n: return 'swiglu_fp8 (SwiGLU epilogue into fp8)'
    if 'add_kernel' in n: return 'decoder residual add'
    if 'copy_columns' in n or 'copy_many' in n or 'repeat_last' in n or 'transpose' in n: return 'copies (windows, columns, repeat)'
    if 'rms_norm' in n: return 'rms_norm (gated residual add + modulated norm, fp8 out)'
    if 'scale_output' in n: return 'scale_output'
    if 'quantize' in n: return 'quantize_fp8'
    return 'other'
bk = collections.defaultdict(float)
for n, u in seg: bk[kind(n)] += u
print('total_us %.1f' % tot)
for k, v in sorted(bk.items(), key=lambda x: -x[1]): print('  %-45s %9.1f us %5.1f %%' % (k, v, 100 * v / tot))
for k, (c, u) in sorted(by.items(), key=lambda x: -x[1][1])[:40]: print('%6d %10.1f %8.2f  %s' % (c, u, u / c, k))
