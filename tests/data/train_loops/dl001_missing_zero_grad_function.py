# expect: DL001
import torch
from torch import nn
import torch.nn.functional as F


def train_one_epoch(model, optimizer, data_loader, device):
    model.train()
    for batch in data_loader:
        images = batch[0].to(device)
        targets = batch[1].to(device)
        logits = model(images)
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        optimizer.step()
