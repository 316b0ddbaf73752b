"""PBX simulator: a fake Asterisk 22 speaking AMI over TCP, for tests, benchmarks and the demo."""
from cti.simulator.pbx import CalleeBehaviour, Pbx, PbxConfig
from cti.simulator.agent_phones import PhoneBehaviour
from cti.simulator.queues import AgentBehaviour, MemberConfig, QueueConfig
from cti.simulator.server import Simulator

__all__ = ["AgentBehaviour", "CalleeBehaviour", "MemberConfig", "Pbx", "PbxConfig",
           "PhoneBehaviour", "QueueConfig", "Simulator"]
