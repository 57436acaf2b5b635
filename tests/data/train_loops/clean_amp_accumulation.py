# expect: clean
# Mixed precision with a GradScaler and gradient accumulation (AMP recipe style), an epoch
# scheduler, and a validation pass that switches modes both ways.
import torch
from torch import nn

model = nn.Linear(20, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
scaler = torch.cuda.amp.GradScaler()
accumulation_steps = 4
train_loader = [(torch.randn(8, 20), torch.randint(0, 2, (8,))) for _ in range(16)]
val_loader = train_loader[:4]


def validate(model, loader):
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for batch in loader:
            x, y = batch[0], batch[1]
            total += criterion(model(x), y).item()
    model.train()
    return total / len(loader)


for epoch in range(10):
    model.train()
    optimizer.zero_grad(set_to_none=True)
    for i, (inputs, targets) in enumerate(train_loader):
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            logits = model(inputs)
            loss = criterion(logits, targets) / accumulation_steps
        scaler.scale(loss).backward()
        if (i + 1) % accumulation_steps == 0:
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    print(epoch, validate(model, val_loader))
