# expect: clean
# runnable
# A predict() helper decorated with @torch.inference_mode() that puts the model in eval mode, and
# a serving-style handler that loads the weights and calls model.eval() once at import.
import io

import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 3))
buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
model.load_state_dict(torch.load(buffer))
model.eval()


@torch.inference_mode()
def predict(net, inputs):
    net.eval()
    return net(inputs).softmax(dim=1)


def handle_request(payload):
    with torch.inference_mode():
        scores = model(torch.tensor(payload, dtype=torch.float32))
    return scores.argmax(dim=1).tolist()


print(predict(model, torch.randn(2, 4)))
print(handle_request([[0.1, 0.2, 0.3, 0.4]]))
