# expect: clean
# runnable
# Parameter groups (no weight decay on biases), a LambdaLR warmup stepped after every optimizer
# step, and the learning rate logged from the scheduler.
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 4))
decay = [p for n, p in model.named_parameters() if p.ndim > 1]
no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
warmup_steps = 5
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup_steps))
criterion = nn.CrossEntropyLoss()
global_step = 0

for epoch in range(2):
    model.train()
    for inputs, labels in [(torch.randn(4, 8), torch.randint(0, 4, (4,))) for _ in range(4)]:
        logits = model(inputs)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        global_step += 1
        print(global_step, scheduler.get_last_lr()[0], loss.item())
