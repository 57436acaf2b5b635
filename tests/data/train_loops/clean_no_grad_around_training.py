# expect: clean
# no_grad next to training that is right: backward()/step() themselves under no_grad on a loss
# computed with autograd on (same gradients), a frozen backbone under no_grad feeding a trained
# head, a teacher's targets under no_grad (distillation), enable_grad() inside no_grad, a no_grad
# forward in only one branch of an if, and a no_grad evaluation after training. Runnable.
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
backbone = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
head = nn.Linear(16, 3)
model = nn.Sequential(backbone, head)
teacher = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
head_optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
accumulation_steps = 2
train_loader = [(torch.randn(4, 8), torch.randint(0, 3, (4,))) for _ in range(2)]
val_loader = train_loader[:1]

for inputs, labels in train_loader:
    optimizer.zero_grad()
    loss = criterion(model(inputs), labels) / accumulation_steps
    with torch.no_grad():
        loss.backward()
        optimizer.step()

for inputs, labels in train_loader:
    head_optimizer.zero_grad()
    with torch.no_grad():
        features = backbone(inputs)
    logits = head(features)
    loss = criterion(logits, labels)
    loss.backward()
    head_optimizer.step()

for inputs, labels in train_loader:
    optimizer.zero_grad()
    with torch.no_grad():
        teacher_logits = teacher(inputs)
    student_logits = model(inputs)
    distill = F.kl_div(F.log_softmax(student_logits, dim=1), F.softmax(teacher_logits, dim=1), reduction="batchmean")
    loss = criterion(student_logits, labels) + 0.5 * distill
    loss.backward()
    optimizer.step()

with torch.no_grad():
    for inputs, labels in train_loader:
        with torch.enable_grad():
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()

for epoch, (inputs, labels) in enumerate(train_loader):
    if epoch == 0:
        outputs = model(inputs)
    else:
        with torch.no_grad():
            outputs = model(inputs)
    loss = criterion(outputs, labels)
    if outputs.requires_grad:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    for inputs, labels in val_loader:
        val_loss = criterion(model(inputs), labels)
