# expect: DL020
import torch
from torch import nn
import torch.nn.functional as F

model = nn.Linear(8, 4)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
train_loader = []

for images, labels in train_loader:
    optimizer.zero_grad()
    probs = F.softmax(model(images), dim=1)
    loss = criterion(probs, labels)
    loss.backward()
    optimizer.step()
