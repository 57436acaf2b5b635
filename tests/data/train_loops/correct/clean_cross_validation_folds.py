# expect: clean
# runnable
# K-fold cross-validation: a fresh model per fold built by a factory function, the fold's own
# optimizer, evaluation of the held-out fold in eval mode under no_grad.
import torch
from torch import nn


def make_model():
    return nn.Sequential(nn.Linear(3, 12), nn.ReLU(), nn.Dropout(0.2), nn.Linear(12, 2))


torch.manual_seed(0)
X, y = torch.randn(30, 3), torch.randint(0, 2, (30,))
folds = torch.arange(30) % 3
scores = []
for k in range(3):
    train_idx, test_idx = folds != k, folds == k
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(5):
        optimizer.zero_grad()
        loss = criterion(model(X[train_idx]), y[train_idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        X_test = X[test_idx]
        accuracy = (model(X_test).argmax(1) == y[test_idx]).float().mean().item()
    scores.append(accuracy)
print(sum(scores) / len(scores))
