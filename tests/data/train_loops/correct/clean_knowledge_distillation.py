# expect: clean
# runnable
# Knowledge distillation: the frozen teacher in eval mode under no_grad, the student trained on a
# mix of KL divergence (log_softmax vs softmax, temperature T) and cross-entropy on the labels.
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
T, alpha = 4.0, 0.7
teacher = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 5))
student = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 5))
loader = DataLoader(TensorDataset(torch.randn(32, 10), torch.randint(0, 5, (32,))), batch_size=8)
optimizer = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9)
ce = nn.CrossEntropyLoss()
kl = nn.KLDivLoss(reduction="batchmean")

teacher.eval()
for epoch in range(2):
    student.train()
    for inputs, labels in loader:
        with torch.no_grad():
            teacher_logits = teacher(inputs)
        student_logits = student(inputs)
        soft_loss = kl(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1)) * T * T
        hard_loss = ce(student_logits, labels)
        loss = alpha * soft_loss + (1 - alpha) * hard_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
