# expect: clean
# runnable
# A SimCLR-style contrastive step: two augmented views, normalised projections, the NT-Xent loss
# as cross-entropy over the similarity matrix with the positive pair's index as the target.
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
temperature = 0.5


def augment(x):
    return x + 0.1 * torch.randn_like(x)


def nt_xent(z1, z2):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.t() / temperature
    sim.fill_diagonal_(float("-inf"))
    n = z1.size(0)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


for step in range(3):
    batch = torch.randn(8, 16)
    loss = nt_xent(encoder(augment(batch)), encoder(augment(batch)))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
