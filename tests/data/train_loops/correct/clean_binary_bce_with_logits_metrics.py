# expect: clean
# runnable
# Binary classification: BCEWithLogitsLoss on raw logits for training; torch.sigmoid only for the
# metrics, under no_grad in eval mode.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
train_loader = DataLoader(TensorDataset(torch.randn(40, 7), torch.randint(0, 2, (40,)).float()), batch_size=10)
val_loader = DataLoader(TensorDataset(torch.randn(20, 7), torch.randint(0, 2, (20,)).float()), batch_size=10)
model = nn.Sequential(nn.Linear(7, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

for epoch in range(2):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        logits = model(x).squeeze(1)
        loss = criterion(logits, y)
        loss.backward()
        optimizer.step()
    model.eval()
    tp = fp = fn = 0
    with torch.no_grad():
        for x, y in val_loader:
            probs = torch.sigmoid(model(x).squeeze(1))
            predicted = (probs > 0.5).float()
            tp += ((predicted == 1) & (y == 1)).sum().item()
            fp += ((predicted == 1) & (y == 0)).sum().item()
            fn += ((predicted == 0) & (y == 1)).sum().item()
    print(epoch, tp / max(tp + fp, 1), tp / max(tp + fn, 1))
