# expect: clean
# A DistributedDataParallel script: the sampler's epoch set, the model wrapped in DDP, the loss on
# the local rank, evaluation on rank 0 only (helpers from the project's own modules).
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from project.data import build_dataset
from project.models import ResNetClassifier


def main(rank, world_size, epochs=90):
    dist.init_process_group("nccl", rank=rank, world_size=world_size)
    dataset = build_dataset("train")
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank)
    train_loader = DataLoader(dataset, batch_size=256, sampler=sampler, num_workers=8, pin_memory=True)
    val_loader = DataLoader(build_dataset("val"), batch_size=256)
    model = ResNetClassifier(num_classes=1000).cuda(rank)
    ddp_model = DDP(model, device_ids=[rank])
    criterion = nn.CrossEntropyLoss().cuda(rank)
    optimizer = torch.optim.SGD(ddp_model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        ddp_model.train()
        for images, target in train_loader:
            images = images.cuda(rank, non_blocking=True)
            target = target.cuda(rank, non_blocking=True)
            output = ddp_model(images)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        if rank == 0:
            ddp_model.eval()
            correct = 0
            with torch.no_grad():
                for images, target in val_loader:
                    correct += (ddp_model(images.cuda(rank)).argmax(1) == target.cuda(rank)).sum().item()
            print(epoch, correct / len(val_loader.dataset))
    dist.destroy_process_group()
