# expect: clean
# runnable
# Early stopping on the validation loss with a patience counter; the validation pass is a function
# that sets eval mode and runs under torch.no_grad(); the best weights are saved.
import io

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def run_validation(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for features, targets in loader:
            total += loss_fn(model(features), targets).item() * len(targets)
            count += len(targets)
    return total / count


def train_with_early_stopping(model, train_loader, valid_loader, patience=2, max_epochs=5):
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    best, waited = float("inf"), 0
    buffer = io.BytesIO()
    for epoch in range(max_epochs):
        model.train()
        for features, targets in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(features), targets)
            loss.backward()
            optimizer.step()
        valid_loss = run_validation(model, valid_loader, loss_fn)
        if valid_loss < best:
            best, waited = valid_loss, 0
            buffer.seek(0)
            torch.save(model.state_dict(), buffer)
        else:
            waited += 1
            if waited >= patience:
                break
    return best


torch.manual_seed(0)
X, Y = torch.randn(60, 4), torch.randn(60, 1)
tr = DataLoader(TensorDataset(X[:40], Y[:40]), batch_size=10, shuffle=True)
va = DataLoader(TensorDataset(X[40:], Y[40:]), batch_size=10)
train_with_early_stopping(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)), tr, va)
