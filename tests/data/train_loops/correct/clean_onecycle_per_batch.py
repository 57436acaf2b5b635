# expect: clean
# runnable
# OneCycleLR stepped after every optimizer step (per batch), as its documentation shows.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
epochs = 2
data_loader = DataLoader(TensorDataset(torch.randn(40, 12), torch.randint(0, 4, (40,))), batch_size=8)
model = nn.Sequential(nn.Linear(12, 24), nn.ReLU(), nn.Linear(24, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=0.1, steps_per_epoch=len(data_loader), epochs=epochs
)
criterion = nn.CrossEntropyLoss()

for epoch in range(epochs):
    model.train()
    for batch in data_loader:
        inputs, targets = batch
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        scheduler.step()
