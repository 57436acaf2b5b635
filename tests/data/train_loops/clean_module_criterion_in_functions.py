# expect: clean
"""Module-level model, loss and optimizer used by train() and evaluate(), which only read them.

pretrain_head() binds its own local ``criterion`` (an NLLLoss on log-probabilities): that local
must not replace the module's CrossEntropyLoss seen by train() and evaluate().
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
features, targets = torch.randn(256, 16), torch.randint(0, 4, (256,))
train_loader = DataLoader(TensorDataset(features[:192], targets[:192]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(features[192:], targets[192:]), batch_size=64)

model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def pretrain_head(head, loader):
    criterion = nn.NLLLoss()
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(F.log_softmax(head(inputs), dim=1), labels)
        loss.backward()
        optimizer.step()


def train():
    model.train()
    running = 0.0
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running += loss.item()
    return running / len(train_loader)


def evaluate():
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for inputs, labels in val_loader:
            outputs = model(inputs)
            total += criterion(outputs, labels).item()
            correct += (outputs.argmax(dim=1) == labels).sum().item()
    return total / len(val_loader), correct / len(val_loader.dataset)


pretrain_head(nn.Linear(16, 4), train_loader)
for epoch in range(5):
    train_loss = train()
    val_loss, accuracy = evaluate()
    print(f"epoch {epoch}: train {train_loss:.3f} val {val_loss:.3f} acc {accuracy:.2%}")
