# expect: clean
# runnable
# Gradient accumulation: the loss divided by the number of micro-batches, step() and zero_grad()
# every `accumulation_steps` batches (and once more after the loop for the remainder).
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
accumulation_steps = 4
loader = DataLoader(TensorDataset(torch.randn(36, 10), torch.randint(0, 5, (36,))), batch_size=4)
model = nn.Linear(10, 5)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

model.train()
optimizer.zero_grad()
for epoch in range(2):
    for i, (inputs, labels) in enumerate(loader):
        loss = criterion(model(inputs), labels) / accumulation_steps
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
    optimizer.step()
    optimizer.zero_grad()
