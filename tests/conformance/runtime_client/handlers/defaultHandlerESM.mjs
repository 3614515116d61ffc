/** Copyright 2021 Amazon.com, Inc. or its affiliates. All Rights Reserved. */

export default () => 42;
