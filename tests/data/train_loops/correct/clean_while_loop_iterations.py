# expect: clean
# runnable
# Iteration-based training with a while loop and next() on a cycling iterator, validation every
# `eval_every` iterations (eval mode and no_grad, then back to train mode).
import itertools

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
train_loader = DataLoader(TensorDataset(torch.randn(24, 4), torch.randint(0, 2, (24,))), batch_size=6, shuffle=True)
X_val, y_val = torch.randn(10, 4), torch.randint(0, 2, (10,))
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()
batches = itertools.cycle(train_loader)
max_iters, eval_every, iteration = 12, 4, 0

model.train()
while iteration < max_iters:
    inputs, targets = next(batches)
    optimizer.zero_grad()
    loss = criterion(model(inputs), targets)
    loss.backward()
    optimizer.step()
    iteration += 1
    if iteration % eval_every == 0:
        model.eval()
        with torch.no_grad():
            val_acc = (model(X_val).argmax(1) == y_val).float().mean().item()
        model.train()
        print(iteration, loss.item(), val_acc)
