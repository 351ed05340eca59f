# math_reference.py: prints math_reference.h, the expected values of test_math.cpp.
#
# PyTorch (1.13, float64) gives the elementwise, scan, order-statistic and rearrangement values;
# mpmath at 40 digits gives the special functions (erfinv, lgamma, digamma, polygamma), where
# PyTorch's own are less accurate (its trigamma is off by up to 5e-10 relative).
#
#   python3 tests/autograd/math_reference.py > tests/autograd/math_reference.h
import torch, mpmath, math
torch.set_default_dtype(torch.float64)
mpmath.mp.dps = 40
def arr(vals):
    out=[]
    for v in vals:
        v=float(v)
        if math.isnan(v): out.append('kNaN')
        elif math.isinf(v): out.append('kInf' if v>0 else '-kInf')
        else: out.append(repr(v))
    return '{'+', '.join(out)+'}'
def iarr(vals): return '{'+', '.join(str(int(v)) for v in vals)+'}'
lines=[]
def emit(name, val): lines.append(f'inline const std::vector<double> {name} = {arr(val)};')
def iemit(name, val): lines.append(f'inline const std::vector<std::int64_t> {name} = {iarr(val)};')
x=[-2.5,-0.7,-0.1,0.0,0.3,1.0,2.2,7.5]
X=torch.tensor(x)
emit('kX', x)
for op in ['tan','atan','sinh','cosh','asinh','expm1','exp2','erf','erfc','sinc','frac']:
    emit('k_'+op, getattr(torch,op)(X).tolist())
u=[-0.95,-0.5,-0.1,0.0,0.3,0.7,0.999]
U=torch.tensor(u); emit('kU', u)
for op in ['asin','acos','atanh']:
    emit('k_'+op, getattr(torch,op)(U).tolist())
emit('k_erfinv', [float(mpmath.erfinv(mpmath.mpf(v))) for v in u])
p=[1e-3,0.2,0.5,1.0,1.5,3.7,12.0,250.0]
P=torch.tensor(p); emit('kP', p)
for op in ['log2','log10']:
    emit('k_'+op, getattr(torch,op)(P).tolist())
emit('k_acosh', torch.acosh(P+1).tolist())
g=[-3.3,-2.5,-1.2,-0.4,1e-3,0.5,1.0,2.5,7.3,15.0,123.4]
emit('kG', g)
emit('k_lgamma', [float(mpmath.log(abs(mpmath.gamma(mpmath.mpf(v))))) for v in g])
emit('k_digamma', [float(mpmath.digamma(mpmath.mpf(v))) for v in g])
for n in [1,2,3,5]:
    emit(f'k_polygamma{n}', [float(mpmath.polygamma(n, mpmath.mpf(v))) for v in g])
# binary
a=[5.3,-5.3,5.3,-5.3,7.0,-7.0,0.0,1.0]
b=[2.0,2.0,-2.0,-2.0,2.5,0.1,3.0,0.1]
A=torch.tensor(a); B=torch.tensor(b)
emit('kA',a); emit('kB',b)
for op in ['fmod','remainder','floor_divide','atan2','hypot','copysign','logaddexp']:
    emit('k_'+op, getattr(torch,op)(A,B).tolist())
ia=[7,-7,7,-7,0,9]; ib=[3,3,-3,-3,5,-1]
IA=torch.tensor(ia); IB=torch.tensor(ib)
iemit('kIA',ia); iemit('kIB',ib)
for op in ['fmod','remainder','floor_divide']:
    iemit('k_int_'+op, getattr(torch,op)(IA,IB).tolist())
la=[float('inf'),float('-inf'),float('-inf'),1000.0,-1000.0,float('nan')]
lb=[1.0,float('-inf'),2.0,1000.0,-999.0,1.0]
emit('kLA',la); emit('kLB',lb); emit('k_logaddexp_edges', torch.logaddexp(torch.tensor(la),torch.tensor(lb)).tolist())
xa=[0.0,0.0,2.0,-1.5,0.0]; xb=[0.0,float('nan'),3.0,0.5,float('inf')]
emit('kXA',xa); emit('kXB',xb); emit('k_xlogy', torch.xlogy(torch.tensor(xa),torch.tensor(xb)).tolist())
# scans
s=torch.tensor([[1.5,-2.0,0.0,3.0,-0.5,2.0],[2.0,2.0,-1.0,2.0,float('nan'),4.0]])
emit('kS', s.flatten().tolist())
emit('k_cumprod', torch.cumprod(s,1).flatten().tolist())
v,i=torch.cummax(s,1); emit('k_cummax', v.flatten().tolist()); iemit('k_cummax_i', i.flatten().tolist())
v,i=torch.cummin(s,1); emit('k_cummin', v.flatten().tolist()); iemit('k_cummin_i', i.flatten().tolist())
emit('k_logcumsumexp', torch.logcumsumexp(s,1).flatten().tolist())
m=torch.tensor([[3.0,1.0,4.0,1.0,5.0,9.0],[2.0,6.0,5.0,3.0,5.0,8.0],[9.0,7.0,9.0,3.0,2.0,3.0]])
emit('kM', m.flatten().tolist())
v,i=torch.median(m,1); emit('k_median1', v.tolist()); iemit('k_median1_i', i.tolist())
v,i=torch.median(m,0); emit('k_median0', v.tolist())
emit('k_median_all', [torch.median(m).item()])
for how in ['linear','lower','higher','nearest','midpoint']:
    emit('k_quantile_'+how, torch.quantile(m, torch.tensor([0.0,0.25,0.5,0.6,1.0]), dim=1, interpolation=how).flatten().tolist())
emit('k_quantile_all', [torch.quantile(m, 0.4).item()])
# searchsorted
ss=torch.tensor([[1.0,3.0,5.0,7.0,9.0],[2.0,4.0,6.0,8.0,10.0]]); sv=torch.tensor([[3.0,6.0,9.0],[3.0,6.0,9.0]])
emit('kSS', ss.flatten().tolist()); emit('kSV', sv.flatten().tolist())
iemit('k_ss_left', torch.searchsorted(ss,sv).flatten().tolist()); iemit('k_ss_right', torch.searchsorted(ss,sv,right=True).flatten().tolist())
bnd=torch.tensor([1.0,3.0,5.0,7.0,9.0]); bx=torch.tensor([[0.5,3.0,9.0],[10.0,6.0,1.0]])
emit('kBX', bx.flatten().tolist()); iemit('k_bucketize', torch.bucketize(bx,bnd).flatten().tolist()); iemit('k_bucketize_right', torch.bucketize(bx,bnd,right=True).flatten().tolist())
# structure
t=torch.arange(24.).reshape(2,3,4)
emit('k_tril1', torch.tril(t,1).flatten().tolist()); emit('k_triu_m1', torch.triu(t,-1).flatten().tolist())
d=torch.diagonal(t,1,2,0); lines.append(f'inline const Shape k_diag_shape = {iarr(d.shape)};'); emit('k_diagonal', d.flatten().tolist())
emit('k_diag_vec', torch.diag(torch.tensor([1.,2.,3.]),-1).flatten().tolist())
de=torch.diag_embed(torch.arange(6.).reshape(2,3),1,0,2); lines.append(f'inline const Shape k_diag_embed_shape = {iarr(de.shape)};'); emit('k_diag_embed', de.flatten().tolist())
iemit('k_tril_indices', torch.tril_indices(3,4,1).flatten().tolist()); iemit('k_triu_indices', torch.triu_indices(4,3,-1).flatten().tolist())
mv=torch.movedim(t,[0,2],[2,0]); lines.append(f'inline const Shape k_movedim_shape = {iarr(mv.shape)};'); emit('k_movedim', mv.flatten().tolist())
for k in [1,2,3,-1]:
    emit(f'k_rot90_{k}'.replace('-','m'), torch.rot90(t,k,[1,2]).flatten().tolist())
tl=torch.tile(torch.arange(6.).reshape(2,3),(2,1,2)); lines.append(f'inline const Shape k_tile_shape = {iarr(tl.shape)};'); emit('k_tile', tl.flatten().tolist())
ka=torch.tensor([[1.,2.],[3.,4.]]); kb=torch.tensor([[0.,5.,1.],[6.,7.,2.]])
emit('k_kron', torch.kron(ka,kb).flatten().tolist())
td=torch.tensordot(t, torch.arange(12.).reshape(4,3), dims=([1,2],[1,0])); emit('k_tensordot', td.flatten().tolist())
bd=torch.block_diag(torch.tensor([[1.,2.],[3.,4.]]), torch.tensor([5.,6.,7.]), torch.tensor(8.)); lines.append(f'inline const Shape k_block_diag_shape = {iarr(bd.shape)};'); emit('k_block_diag', bd.flatten().tolist())
cp=torch.cartesian_prod(torch.tensor([1.,2.]),torch.tensor([3.,4.,5.])); emit('k_cartesian', cp.flatten().tolist())
# prod gradient with zeros
pz=torch.tensor([[1.3,0.0,-0.7],[2.1,0.9,-1.1],[0.0,0.0,2.0]],requires_grad=True)
pz.prod(1).sum().backward(); emit('k_prod_grad', pz.grad.flatten().tolist())
print("""// math_reference.h: expected values for test_math.cpp, printed by math_reference.py (PyTorch
// 1.13 in float64; mpmath at 40 digits for erfinv, lgamma, digamma and polygamma). Do not edit:
// run the script.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <cake/cake.h>

namespace math_reference {
using cake::Shape;
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();
""")
print('\n'.join(lines))
print('}  // namespace math_reference')
