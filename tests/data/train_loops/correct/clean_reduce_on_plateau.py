# expect: clean
# runnable
# ReduceLROnPlateau stepped with the validation loss once per epoch, after the training steps.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
train_dl = DataLoader(TensorDataset(torch.randn(32, 3), torch.randn(32, 1)), batch_size=8)
valid_dl = DataLoader(TensorDataset(torch.randn(16, 3), torch.randn(16, 1)), batch_size=8)
net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
loss_func = nn.SmoothL1Loss()

for epoch in range(3):
    net.train()
    for xb, yb in train_dl:
        pred = net(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    net.eval()
    with torch.no_grad():
        valid_loss = sum(loss_func(net(xb), yb) for xb, yb in valid_dl)
    sched.step(valid_loss / len(valid_dl))
    print(epoch, valid_loss / len(valid_dl))
