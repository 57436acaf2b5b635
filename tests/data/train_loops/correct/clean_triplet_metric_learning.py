# expect: clean
# runnable
# Metric learning with TripletMarginLoss(anchor, positive, negative): three embeddings of the same
# network, no targets at all.
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
embedder = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 8))
triplet_loss = nn.TripletMarginLoss(margin=1.0, p=2)
optimizer = torch.optim.Adam(embedder.parameters(), lr=1e-3)
triplets = [(torch.randn(4, 10), torch.randn(4, 10), torch.randn(4, 10)) for _ in range(5)]

for epoch in range(2):
    embedder.train()
    total = 0.0
    for anchor, positive, negative in triplets:
        optimizer.zero_grad()
        a = F.normalize(embedder(anchor), dim=1)
        p = F.normalize(embedder(positive), dim=1)
        n = F.normalize(embedder(negative), dim=1)
        loss = triplet_loss(a, p, n)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(epoch, total)
