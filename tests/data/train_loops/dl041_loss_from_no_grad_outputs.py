# expect: DL041
# The forward pass (or the loss) runs under no_grad/inference_mode and backward() is called
# afterwards, outside the block: PyTorch raises "element 0 of tensors does not require grad and
# does not have a grad_fn". Method chains, a GradScaler, a decorated step and a step function
# that is only called under no_grad. Runnable: each of the four backward() calls raises.
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scaler = torch.amp.GradScaler("cpu", enabled=False)
train_loader = [(torch.randn(4, 8), torch.randint(0, 2, (4,)).float())]
errors = []

for inputs, labels in train_loader:
    optimizer.zero_grad()
    with torch.no_grad():
        outputs = model(inputs)
    loss = criterion(outputs.squeeze(1), labels)
    try:
        loss.backward()
    except RuntimeError as error:
        errors.append(error)
    optimizer.step()

for batch in train_loader:
    optimizer.zero_grad()
    with torch.inference_mode():
        logits = model(batch[0]).view(-1)
    try:
        scaler.scale(criterion(logits, batch[1]) / 2).backward()
    except RuntimeError as error:
        errors.append(error)
    scaler.step(optimizer)
    scaler.update()


@torch.no_grad()
def decorated_step(inputs, labels):
    optimizer.zero_grad()
    loss = criterion(model(inputs).squeeze(1), labels)
    loss.backward()
    optimizer.step()


def step_called_under_no_grad(inputs, labels):
    optimizer.zero_grad()
    loss = criterion(model(inputs).squeeze(1), labels)
    loss.backward()
    optimizer.step()


for inputs, labels in train_loader:
    try:
        decorated_step(inputs, labels)
    except RuntimeError as error:
        errors.append(error)

with torch.no_grad():
    for inputs, labels in train_loader:
        try:
            step_called_under_no_grad(inputs, labels)
        except RuntimeError as error:
            errors.append(error)
