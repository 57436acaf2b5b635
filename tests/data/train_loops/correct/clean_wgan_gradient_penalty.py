# expect: clean
# runnable
# WGAN-GP: the critic trained n_critic times per generator step, the gradient penalty from
# torch.autograd.grad(create_graph=True) on interpolated samples.
import torch
from torch import nn

torch.manual_seed(0)
critic = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
generator = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer_c = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
optimizer_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.0, 0.9))
n_critic, lambda_gp = 3, 10.0
real_batches = [torch.randn(8, 2) for _ in range(6)]


def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1)
    interpolated = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolated)
    grads = torch.autograd.grad(scores.sum(), interpolated, create_graph=True)[0]
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


for i, real in enumerate(real_batches):
    fake = generator(torch.randn(real.size(0), 3)).detach()
    optimizer_c.zero_grad()
    critic_loss = critic(fake).mean() - critic(real).mean() + lambda_gp * gradient_penalty(critic, real, fake)
    critic_loss.backward()
    optimizer_c.step()
    if i % n_critic == 0:
        optimizer_g.zero_grad()
        generator_loss = -critic(generator(torch.randn(real.size(0), 3))).mean()
        generator_loss.backward()
        optimizer_g.step()
