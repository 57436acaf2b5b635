# expect: clean
# Training in this file, evaluation and metrics from the project's own modules (their bodies are
# not visible here: nothing is assumed about them).
import torch
from torch import nn

from project.engine import evaluate, save_checkpoint
from project.models import get_model
from project.utils import MetricLogger, build_loaders


def train_one_epoch(model, criterion, optimizer, data_loader, device, epoch, print_freq=10):
    model.train()
    logger = MetricLogger()
    for i, (image, target) in enumerate(data_loader):
        image, target = image.to(device), target.to(device)
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        logger.update(loss=loss.item(), lr=optimizer.param_groups[0]["lr"])
        if i % print_freq == 0:
            print(epoch, i, logger)


def main(args):
    device = torch.device(args.device)
    train_loader, test_loader = build_loaders(args)
    model = get_model(args.model, num_classes=args.num_classes).to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.wd)
    lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[30, 60], gamma=0.1)
    for epoch in range(args.epochs):
        train_one_epoch(model, criterion, optimizer, train_loader, device, epoch)
        lr_scheduler.step()
        evaluate(model, criterion, test_loader, device=device)
        save_checkpoint(model, optimizer, epoch, args.output_dir)
