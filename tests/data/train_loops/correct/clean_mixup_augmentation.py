# expect: clean
# runnable
# Mixup: a convex combination of two shuffled batches, the loss lam * CE(out, y_a) +
# (1 - lam) * CE(out, y_b), with the targets in the second argument each time.
import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
np.random.seed(0)
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
train_loader = [(torch.randn(8, 6), torch.randint(0, 3, (8,))) for _ in range(4)]


def mixup_data(x, y, alpha=1.0):
    lam = float(np.random.beta(alpha, alpha))
    index = torch.randperm(x.size(0))
    return lam * x + (1 - lam) * x[index], y, y[index], lam


def mixup_criterion(criterion, pred, y_a, y_b, lam):
    return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)


model.train()
for epoch in range(2):
    for inputs, targets in train_loader:
        inputs, targets_a, targets_b, lam = mixup_data(inputs, targets)
        outputs = model(inputs)
        loss = mixup_criterion(criterion, outputs, targets_a, targets_b, lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
