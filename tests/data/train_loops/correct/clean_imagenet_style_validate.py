# expect: clean
# The structure of the ImageNet reference scripts: train() and validate() functions called from the
# epoch loop; validate() defines a nested run_validate() BEFORE model.eval() and calls it after,
# once directly and once inside an `if` (the order of calls decides the mode, not of definitions).
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Subset

from project.meters import AverageMeter, ProgressMeter
from project.models import build_resnet


def accuracy(output, target, topk=(1,)):
    with torch.no_grad():
        maxk = max(topk)
        _, pred = output.topk(maxk, 1, True, True)
        correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
        return [correct[:k].reshape(-1).float().sum(0) * 100.0 / target.size(0) for k in topk]


def train(train_loader, model, criterion, optimizer, epoch, device):
    losses = AverageMeter("Loss")
    top1 = AverageMeter("Acc@1")
    model.train()
    end = time.time()
    for i, (images, target) in enumerate(train_loader):
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        output = model(images)
        loss = criterion(output, target)
        acc1, acc5 = accuracy(output, target, topk=(1, 5))
        losses.update(loss.item(), images.size(0))
        top1.update(acc1[0], images.size(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        end = time.time()


def validate(val_loader, model, criterion, device, distributed=False, world_size=1):
    def run_validate(loader, base_progress=0):
        with torch.no_grad():
            for i, (images, target) in enumerate(loader):
                i = base_progress + i
                images = images.to(device, non_blocking=True)
                target = target.to(device, non_blocking=True)
                output = model(images)
                loss = criterion(output, target)
                acc1, acc5 = accuracy(output, target, topk=(1, 5))
                losses.update(loss.item(), images.size(0))
                top1.update(acc1[0], images.size(0))

    losses = AverageMeter("Loss")
    top1 = AverageMeter("Acc@1")
    progress = ProgressMeter(len(val_loader), [losses, top1], prefix="Test: ")

    # switch to evaluate mode
    model.eval()

    run_validate(val_loader)
    if distributed and len(val_loader.sampler) * world_size < len(val_loader.dataset):
        aux_val_dataset = Subset(val_loader.dataset, range(len(val_loader.sampler) * world_size, len(val_loader.dataset)))
        aux_val_loader = DataLoader(aux_val_dataset, batch_size=256, shuffle=False)
        run_validate(aux_val_loader, len(val_loader))
    progress.display_summary()
    return top1.avg


def main_worker(train_loader, val_loader, epochs=90, device="cuda"):
    model = build_resnet("resnet50").to(device)
    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    best_acc1 = 0
    for epoch in range(epochs):
        train(train_loader, model, criterion, optimizer, epoch, device)
        acc1 = validate(val_loader, model, criterion, device)
        scheduler.step()
        best_acc1 = max(acc1, best_acc1)
    return best_acc1
