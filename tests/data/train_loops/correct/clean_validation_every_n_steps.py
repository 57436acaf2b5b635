# expect: clean
# runnable
# Validation inside the batch loop every `log_interval` steps: model.eval() and torch.no_grad()
# around it, model.train() restored right after, in the same block.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
train_loader = DataLoader(TensorDataset(torch.randn(40, 5), torch.randint(0, 2, (40,))), batch_size=5)
valid_loader = DataLoader(TensorDataset(torch.randn(10, 5), torch.randint(0, 2, (10,))), batch_size=5)
model = nn.Sequential(nn.Linear(5, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 2))
optimizer = torch.optim.Adam(model.parameters())
criterion = nn.CrossEntropyLoss()
log_interval = 4

for epoch in range(2):
    model.train()
    for step, (x, y) in enumerate(train_loader):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        if step % log_interval == 0:
            model.eval()
            with torch.no_grad():
                valid_loss = sum(criterion(model(vx), vy).item() for vx, vy in valid_loader)
            model.train()
            print(epoch, step, loss.item(), valid_loss)
