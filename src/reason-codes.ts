// MQTT reason codes in one place, and their 3.1.1 equivalents. No other file
// of src/ writes a reason code as a number: test/architecture/reason-codes.test.ts
// fails on a raw literal in a reason position elsewhere.

/** MQTT 5 reason codes edgemq uses [MQTT-2.4]. */
export const REASON = {
  SUCCESS: 0x00,
  NO_SUBSCRIPTION_EXISTED: 0x11,
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
  TOPIC_FILTER_INVALID: 0x8F,
  TOPIC_NAME_INVALID: 0x90,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  USE_ANOTHER_SERVER: 0x9C,
  SERVER_MOVED: 0x9D,
  CONNECTION_RATE_EXCEEDED: 0x9F
} as const

/** MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3]. */
export const CONNACK_V3 = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USER_NAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5
} as const

/** The MQTT 3.1.1 SUBACK return code for a refused subscription [MQTT-3.9.3]. */
export const SUBACK_FAILURE_V3 = 0x80

/** Whether an MQTT 5 reason code says the operation failed (0x80 and above) [MQTT-2.4]. */
export function isFailureCode (reasonCode: number): boolean {
  return reasonCode >= REASON.UNSPECIFIED_ERROR
}

/** Maps an MQTT 5 CONNACK reason code to the 3.1.1 CONNACK return code [MQTT-3.2.2.3]. */
export function toConnackReturnCode (reasonCode: number): number {
  switch (reasonCode) {
    case REASON.UNSUPPORTED_PROTOCOL_VERSION: return CONNACK_V3.UNACCEPTABLE_PROTOCOL_VERSION
    case REASON.CLIENT_IDENTIFIER_NOT_VALID: return CONNACK_V3.IDENTIFIER_REJECTED
    case REASON.SERVER_UNAVAILABLE:
    case REASON.SERVER_BUSY:
    case REASON.QUOTA_EXCEEDED:
    case REASON.CONNECTION_RATE_EXCEEDED: return CONNACK_V3.SERVER_UNAVAILABLE
    case REASON.BAD_USER_NAME_OR_PASSWORD: return CONNACK_V3.BAD_USER_NAME_OR_PASSWORD
    default: return CONNACK_V3.NOT_AUTHORIZED
  }
}
