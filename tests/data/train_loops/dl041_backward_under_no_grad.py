# expect: DL041
import torch
from torch import nn

model = nn.Linear(8, 4)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
train_loader = []

for inputs, labels in train_loader:
    optimizer.zero_grad()
    with torch.no_grad():
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
    optimizer.step()
