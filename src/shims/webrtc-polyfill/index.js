// The pod seeds over HTTP (web seed) and TCP; browsers talk WebRTC among themselves.
// simple-peer checks these names to decide whether WebRTC is available: on the server
// they are undefined, so it reports no WebRTC support instead of loading native code.
const scope = globalThis
export const RTCPeerConnection = scope.RTCPeerConnection
export const RTCSessionDescription = scope.RTCSessionDescription
export const RTCIceCandidate = scope.RTCIceCandidate
export const RTCDataChannel = scope.RTCDataChannel
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, RTCDataChannel }
