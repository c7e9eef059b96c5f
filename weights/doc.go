// Package weights turns untrusted service-registry data into validated,
// ordered nodes for a weighted balancer, with a reason for every reject.
//
// A registry's payload is decoded at the token level into Raw values that
// keep what was actually sent: the string "0" stays a string, 1e400 keeps its
// text, object order and duplicate keys are kept. A Policy then decides which
// raw weights are usable and what they mean; every rejected node comes back as
// a *NodeError whose Unwrap gives a sentinel such as ErrStringZero or ErrNaN.
// Nothing that is not a finite integer within the policy's range is ever
// accepted, so nothing this package returns can make a balancer loop.
package weights
