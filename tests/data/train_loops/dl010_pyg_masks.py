# expect: DL010
# PyTorch Geometric style mini-batches: targets are batch.y, passed first to the loss.
import torch
import torch.nn.functional as F

model = torch.nn.Linear(16, 4)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
train_loader = []

for batch in train_loader:
    optimizer.zero_grad()
    out = model(batch.x)
    loss = F.cross_entropy(batch.y[batch.train_mask], out[batch.train_mask])
    loss.backward()
    optimizer.step()
