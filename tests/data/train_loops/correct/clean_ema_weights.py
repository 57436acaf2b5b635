# expect: clean
# runnable
# An exponential moving average of the weights, updated under no_grad after each optimizer step;
# the EMA copy is evaluated in eval mode.
import copy

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 2))
ema_model = copy.deepcopy(model)
for p in ema_model.parameters():
    p.requires_grad_(False)
decay = 0.99
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()
train_batches = [(torch.randn(8, 5), torch.randint(0, 2, (8,))) for _ in range(5)]
test_x, test_y = torch.randn(10, 5), torch.randint(0, 2, (10,))


@torch.no_grad()
def update_ema(ema, online):
    for ema_p, p in zip(ema.parameters(), online.parameters()):
        ema_p.mul_(decay).add_(p.detach(), alpha=1 - decay)


for epoch in range(2):
    model.train()
    for x, y in train_batches:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
        update_ema(ema_model, model)
    ema_model.eval()
    with torch.no_grad():
        accuracy = (ema_model(test_x).argmax(1) == test_y).float().mean()
    print(epoch, accuracy.item())
