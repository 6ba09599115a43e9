"""DeviceIO service (ver10/deviceIO): the Help Point's button input and blue-light relay."""

from __future__ import annotations

from vms.sim.device import SimDevice
from vms.sim.onvif import device_service
from vms.sim.onvif.soap import SoapRequest, el


def get_digital_inputs(dev: SimDevice, req: SoapRequest) -> str:
    return el("tmd:GetDigitalInputsResponse",
              [el("tmd:DigitalInputs", "", token=tok, IdleState="open") for tok in dev.inputs])


def get_relay_outputs(dev: SimDevice, req: SoapRequest) -> str:
    return device_service.get_relay_outputs(dev, req, prefix="tmd")


def set_relay_output_state(dev: SimDevice, req: SoapRequest) -> str:
    return device_service.set_relay_output_state(dev, req, prefix="tmd")


HANDLERS = {
    "GetDigitalInputs": get_digital_inputs,
    "GetRelayOutputs": get_relay_outputs,
    "SetRelayOutputState": set_relay_output_state,
}
