// Types of the part of mqtt-packet's constants module edgemq reads (src/engine/bound-property-blocks.ts).
declare module 'mqtt-packet/constants.js' {
  /** Property identifier -> name, name -> value type ('byte', 'int16', 'pair', ...), as mqtt-packet's parser uses them. */
  const tables: { propertiesCodes: Record<number, string>, propertiesTypes: Record<string, string> }
  export default tables
}
