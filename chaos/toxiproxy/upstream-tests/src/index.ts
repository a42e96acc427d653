export { ICreateProxyBody, ICreateToxicBody } from "./interfaces";
export { default as Toxiproxy } from "./Toxiproxy";
export { ToxiproxyError } from "./ToxiproxyError";
export { default as Proxy } from "./Proxy";
export {
    default as Toxic,
    Direction as ToxicDirection,
    Type as ToxicType,
    AttributeTypes as ToxicAttributeTypes,
    Latency, Down, Bandwidth, Slowclose, Timeout, Slicer
} from "./Toxic";