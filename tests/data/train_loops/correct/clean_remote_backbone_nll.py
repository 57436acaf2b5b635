# expect: clean
# A model whose forward calls something dlsolve cannot see into (a hub model, a remote reference):
# its output is unknown, so NLLLoss / BCELoss on it give no finding.
import torch
import torch.distributed.rpc as rpc
import torch.nn.functional as F
from torch import nn


class RemoteNet(nn.Module):
    def __init__(self, remote_ref):
        super().__init__()
        self.remote_ref = remote_ref

    def forward(self, x):
        return self.remote_ref.rpc_sync().forward(x)


class HubNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = torch.hub.load("pytorch/vision", "resnet18", weights=None)

    def forward(self, x):
        return self.backbone(x)


def train(model, loader, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        optimizer.step()


def fit(loader, worker="ps"):
    remote = RemoteNet(rpc.remote(worker, nn.Linear, args=(8, 4)))
    hub = HubNet()
    train(remote, loader, torch.optim.SGD(remote.parameters(), lr=0.1))
    train(hub, loader, torch.optim.SGD(hub.parameters(), lr=0.1))
    criterion = nn.BCELoss()
    hub.train()
    for x, y in loader:
        hub.zero_grad()
        criterion(hub(x).squeeze(1), y.float()).backward()
