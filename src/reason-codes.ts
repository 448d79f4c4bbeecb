// MQTT reason codes in one place, and their 3.1.1 equivalents.

/** MQTT 5 reason codes edgemq uses [MQTT-2.4]. */
export const REASON = {
  SUCCESS: 0x00,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8A,
  BAD_AUTHENTICATION_METHOD: 0x8C,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  CONNECTION_RATE_EXCEEDED: 0x9F
} as const

/** Maps an MQTT 5 CONNACK reason code to the 3.1.1 CONNACK return code [MQTT-3.2.2.3]. */
export function toConnackReturnCode (reasonCode: number): number {
  switch (reasonCode) {
    case REASON.UNSUPPORTED_PROTOCOL_VERSION: return 1
    case REASON.CLIENT_IDENTIFIER_NOT_VALID: return 2
    case REASON.SERVER_UNAVAILABLE:
    case REASON.SERVER_BUSY:
    case REASON.QUOTA_EXCEEDED:
    case REASON.CONNECTION_RATE_EXCEEDED: return 3
    case REASON.BAD_USER_NAME_OR_PASSWORD: return 4
    default: return 5 // not authorized
  }
}
