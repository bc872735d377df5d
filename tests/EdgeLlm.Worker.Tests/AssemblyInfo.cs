// The node tests share two cores with the brokers and models they start; run side by side they would
// measure each other's load rather than the node's behaviour.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
