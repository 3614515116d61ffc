/** Copyright 2021 Amazon.com, Inc. or its affiliates. All Rights Reserved. */

'use strict';

exports.echo = async (event) => {
  return event;
};
