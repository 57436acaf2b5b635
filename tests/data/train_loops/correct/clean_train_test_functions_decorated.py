# expect: clean
# runnable
# train(...) and test(...) functions as in many course notebooks; test is decorated with
# @torch.no_grad() and sets eval mode itself; train sets train mode.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def test(dataloader, model, loss_fn):
    model.eval()
    test_loss, correct = 0.0, 0
    for X, y in dataloader:
        pred = model(X)
        test_loss += loss_fn(pred, y).item()
        correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return test_loss / len(dataloader), correct / len(dataloader.dataset)


torch.manual_seed(0)
train_dataloader = DataLoader(TensorDataset(torch.randn(20, 28 * 28), torch.randint(0, 10, (20,))), batch_size=5)
test_dataloader = DataLoader(TensorDataset(torch.randn(10, 28 * 28), torch.randint(0, 10, (10,))), batch_size=5)
model = nn.Sequential(nn.Linear(28 * 28, 64), nn.ReLU(), nn.Linear(64, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
for t in range(2):
    train(train_dataloader, model, loss_fn, optimizer)
    print(test(test_dataloader, model, loss_fn))
