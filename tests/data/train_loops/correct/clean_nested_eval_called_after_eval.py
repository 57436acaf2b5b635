# expect: clean
# runnable
# A nested evaluation function defined before model.eval() and called after it, inside
# `with torch.no_grad():` and inside an `if` (the mode is judged by the order of calls).
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def main(epochs=2):
    torch.manual_seed(0)
    train_loader = DataLoader(TensorDataset(torch.randn(32, 8), torch.randint(0, 3, (32,))), batch_size=8)
    val_loader = DataLoader(TensorDataset(torch.randn(16, 8), torch.randint(0, 3, (16,))), batch_size=8)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def evaluate(loader):
        correct = 0
        for x, y in loader:
            out = model(x)
            correct += (out.argmax(1) == y).sum().item()
        return correct / len(loader.dataset)

    history = []
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            history.append(evaluate(val_loader))
        if epoch % 5 == 0:
            with torch.no_grad():
                print(f"epoch {epoch}: accuracy {evaluate(val_loader):.3f}")
    return history


main()
